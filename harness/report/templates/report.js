"use strict";
// Sortable tables without dependencies. Ordinary tables: a click on a column heading sorts the
// rows. The results table (one column per job): a click on a row heading puts the jobs in order,
// best first. "#sort=<row>" in the address (for example #sort=step-time) opens it sorted so.
(() => {
  const sortKey = (cell) => (cell && cell.dataset.sort !== undefined ? Number(cell.dataset.sort) : null);
  const cellText = (cell) => (cell ? cell.textContent.trim() : "");

  // Cells with a number come first in the asked direction; cells without one always last.
  function compare(a, b, ascending) {
    const x = sortKey(a);
    const y = sortKey(b);
    if (x !== null || y !== null) {
      if (x === null) return 1;
      if (y === null) return -1;
      return ascending ? x - y : y - x;
    }
    const order = cellText(a).localeCompare(cellText(b), undefined, { numeric: true });
    return ascending ? order : -order;
  }

  function addButton(heading, onClick) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.append(...heading.childNodes);
    button.addEventListener("click", onClick);
    heading.append(button);
  }

  function sortRows(table, index, heading) {
    const ascending = heading.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("thead th").forEach((th) => th.removeAttribute("aria-sort"));
    heading.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    rows.sort((r, s) => compare(r.cells[index], s.cells[index], ascending));
    body.append(...rows);
  }

  function sortColumns(table, row) {
    const ascending = row.dataset.better === "lower";
    const order = Array.from(row.cells, (_, i) => i).slice(1);
    order.sort((i, j) => compare(row.cells[i], row.cells[j], ascending));
    for (const each of table.rows) {
      const moved = order.map((i) => each.cells[i]);
      each.append(...moved);
    }
    table.querySelectorAll("th[data-sorted]").forEach((th) => th.removeAttribute("data-sorted"));
    row.cells[0].setAttribute("data-sorted", "");
    table.dataset.sortedBy = row.dataset.row;
  }

  for (const table of document.querySelectorAll("table.sort-rows")) {
    table.querySelectorAll("thead th").forEach((heading, index) => {
      addButton(heading, () => sortRows(table, index, heading));
    });
  }
  for (const table of document.querySelectorAll("table.sort-columns")) {
    for (const row of table.querySelectorAll("tbody tr[data-better]")) {
      addButton(row.cells[0], () => sortColumns(table, row));
      row.cells[0].title = "Put the columns in order, best first";
    }
  }

  const wanted = /^#sort=([\w-]+)$/.exec(window.location.hash);
  if (wanted) {
    const row = document.querySelector(`table.sort-columns tr[data-better][data-row="${wanted[1]}"]`);
    if (row) sortColumns(row.closest("table"), row);
  }
})();
