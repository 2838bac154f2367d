"""The healing app's models, one module per area. Import from here."""

from .audit import AuditEvent
from .backup import Backup
from .breaker import ApplicationSlot, EngineBreaker, ErrorTypeCircuit, Outcome, WorkspaceBreaker
from .cascade import Cascade, CascadeLink
from .config import Setting, SettingChange
from .diagnostics import DetectedBug, DiagnosticRun, FixProposal, KnownPattern
from .engine import EngineState
from .identity import ExternalIdentity
from .journal import ApplyJournal, ApplyJournalStep, JournalState, WorkspaceLock
from .modification import InvalidTransition, Modification, ModificationStatus
from .remote import RemoteLanding, RemoteLandingState
from .sandbox import SandboxRun, SandboxRunKind
from .scoring import (
    AdaptiveThreshold,
    CalibrationFit,
    ConfidenceScore,
    SuccessRate,
    ThresholdAdaptation,
)
from .workspace import Forge, IsolationLevel, Landing, Workspace

__all__ = [
    "ApplyJournal",
    "ApplyJournalStep",
    "Backup",
    "JournalState",
    "SandboxRun",
    "SandboxRunKind",
    "WorkspaceLock",
    "AdaptiveThreshold",
    "ApplicationSlot",
    "CalibrationFit",
    "Cascade",
    "CascadeLink",
    "ConfidenceScore",
    "EngineBreaker",
    "ErrorTypeCircuit",
    "Outcome",
    "SuccessRate",
    "ThresholdAdaptation",
    "WorkspaceBreaker",
    "AuditEvent",
    "DetectedBug",
    "DiagnosticRun",
    "FixProposal",
    "KnownPattern",
    "EngineState",
    "ExternalIdentity",
    "InvalidTransition",
    "IsolationLevel",
    "Modification",
    "ModificationStatus",
    "Setting",
    "SettingChange",
    "Workspace",
    "Forge",
    "Landing",
    "RemoteLanding",
    "RemoteLandingState",
]
