"""ocirt: an OCI runtime-spec v1.3 container runtime with runc's command line.

Importing the package is cheap on purpose: every CLI command is a new process, so the
library is imported lazily, module by module (``from ocirt.container import Container``).
"""

__version__ = "0.1.0"
OCI_VERSION = "1.3.0"
