"""The official files of MNIST and Fashion-MNIST: names, sizes, checksums and mirrors.

Each file carries three published checksums: the md5 and sha256 of the ``.gz`` archive as the
mirrors serve it, and the sha256 of the decompressed IDX file. A download must match the archive
checksums byte for byte; a copy found on disk must match the decompressed checksum, so that a
recompressed copy (Debian's ``dataset-fashion-mnist`` recompresses the archives) is accepted for
its content while a damaged one is not.

Sources: the archive md5s are the published ones (Zalando Research's README for Fashion-MNIST;
the values torchvision and Paddle pin for MNIST); the archive sha256s and the decompressed sha256s
are the ones public loaders pin for the same files. The tests check every figure that a file on
this machine can confirm: all four Fashion-MNIST contents and MNIST's two test archives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SplitName = Literal["train", "test"]
SPLITS: tuple[SplitName, ...] = ("train", "test")


@dataclass(frozen=True)
class OfficialFile:
    """One of the four files of an official data set."""

    name: str
    size: int
    md5: str
    sha256: str
    content_sha256: str

    @property
    def content_name(self) -> str:
        """The name of the decompressed file."""
        return self.name.removesuffix(".gz")


@dataclass(frozen=True)
class OfficialSet:
    """An official data set: its files by split, where to download them, and how to install it."""

    name: str
    title: str
    homepage: str
    mirrors: tuple[str, ...]
    train: tuple[OfficialFile, OfficialFile]
    test: tuple[OfficialFile, OfficialFile]
    keras_npz: str | None = None
    keras_npz_sha256: str | None = None
    debian_package: str | None = None

    def files(self, split: SplitName) -> tuple[OfficialFile, OfficialFile]:
        """The (images, labels) files of ``split``."""
        return self.train if split == "train" else self.test


MNIST = OfficialSet(
    name="mnist",
    title="MNIST",
    homepage="http://yann.lecun.com/exdb/mnist/",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    train=(
        OfficialFile(
            "train-images-idx3-ubyte.gz", 9912422, "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ),
        OfficialFile(
            "train-labels-idx1-ubyte.gz", 28881, "d53e105ee54ea40749a09fcbcd1e9432",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
    ),
    test=(
        OfficialFile(
            "t10k-images-idx3-ubyte.gz", 1648877, "9fb629c4189551a2d022fa330f9573f3",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
        OfficialFile(
            "t10k-labels-idx1-ubyte.gz", 4542, "ec29112dd5afa0611ce80d1b7f02629c",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
    ),
    keras_npz="mnist.npz",
    keras_npz_sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
)

FASHION_MNIST = OfficialSet(
    name="fashion-mnist",
    title="Fashion-MNIST",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    train=(
        OfficialFile(
            "train-images-idx3-ubyte.gz", 26421880, "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ),
        OfficialFile(
            "train-labels-idx1-ubyte.gz", 29515, "25c81989df183df01b3e8a0aad5dffbe",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
    ),
    test=(
        OfficialFile(
            "t10k-images-idx3-ubyte.gz", 4422102, "bef4ecab320f06d8554ea6380940ec79",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ),
        OfficialFile(
            "t10k-labels-idx1-ubyte.gz", 5148, "bb300cfdad3c16e7a12a480ee83cd310",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
    ),
    debian_package="dataset-fashion-mnist",
)

OFFICIAL_SETS: dict[str, OfficialSet] = {s.name: s for s in (MNIST, FASHION_MNIST)}


def identify_content(content_sha256: str) -> str | None:
    """'Fashion-MNIST t10k-images-idx3-ubyte' when the digest is that official file's content."""
    for official in OFFICIAL_SETS.values():
        for file in official.train + official.test:
            if file.content_sha256 == content_sha256:
                return f"{official.title} {file.content_name}"
    return None
