"""The staff workbenches, one module per desk: ``intake`` (operator, group visits), ``work`` (dispatcher,
handler, supervisor, leader, discipline; the demand page and its actions; search and export)."""
