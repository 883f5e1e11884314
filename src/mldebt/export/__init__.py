"""``mldebt graph``: the project graph exported as JSON, GraphML, DOT or Mermaid."""

from mldebt.export.graph_export import FORMATS, VIEWS, export, select_view

__all__ = ["FORMATS", "VIEWS", "export", "select_view"]
