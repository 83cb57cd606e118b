"""What people read: tables, charts, the HTML explorer, exports, discovery (PRIM), diagrams."""
