"""The healing app's models, one module per area. Import from here."""

from .audit import AuditEvent
from .config import Setting, SettingChange
from .diagnostics import DetectedBug, DiagnosticRun, FixProposal, KnownPattern
from .engine import EngineState
from .modification import InvalidTransition, Modification, ModificationStatus
from .workspace import IsolationLevel, Workspace

__all__ = [
    "AuditEvent",
    "DetectedBug",
    "DiagnosticRun",
    "FixProposal",
    "KnownPattern",
    "EngineState",
    "InvalidTransition",
    "IsolationLevel",
    "Modification",
    "ModificationStatus",
    "Setting",
    "SettingChange",
    "Workspace",
]
