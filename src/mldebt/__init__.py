"""mldebt: finds the hidden technical debt of machine-learning code, statically.

The embedding API::

    from mldebt import analyse
    result = analyse(["src/"])            # configuration found as the CLI finds it
    for finding in result.findings: ...   # the same typed objects every reporter takes
"""

__version__ = "0.1.0"

from mldebt.api import AnalysisResult, Summary, analyse
from mldebt.findings import Finding, Location, Severity

__all__ = ["AnalysisResult", "Finding", "Location", "Severity", "Summary", "__version__", "analyse"]
