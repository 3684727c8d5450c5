"""The neutral network: its shapes, parameters and MACs (the oracle), its neutral weights and
weight files, and the conversions between them and each framework's layouts."""
