"""The healing app's models, one module per area. Import from here."""

from .audit import AuditEvent
from .backup import Backup
from .breaker import (
    ApplicationSlot,
    EngineBreaker,
    ErrorTypeCircuit,
    Hold,
    Outcome,
    WorkspaceBreaker,
)
from .cascade import Cascade, CascadeLink
from .config import Setting, SettingChange
from .environment import EnvironmentBuild, EnvironmentStatus
from .identity import ExternalIdentity
from .journal import ApplyJournal, ApplyJournalStep, JournalState, WorkspaceLock
from .modification import InvalidTransition, Modification, ModificationStatus
from .remote import RemoteLanding, RemoteLandingState
from .run_state import EngineState
from .sandbox import SandboxRun, SandboxRunKind
from .scoring import (
    AdaptiveThreshold,
    CalibrationFit,
    ConfidenceScore,
    SuccessRate,
    ThresholdAdaptation,
)
from .token import ApiToken, hash_key
from .workspace import DEFAULT_SETUP_INPUTS, Forge, IsolationLevel, Landing, Workspace

__all__ = [
    "ApiToken",
    "hash_key",
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
    "Hold",
    "Outcome",
    "SuccessRate",
    "ThresholdAdaptation",
    "WorkspaceBreaker",
    "AuditEvent",
    "EngineState",
    "EnvironmentBuild",
    "EnvironmentStatus",
    "ExternalIdentity",
    "InvalidTransition",
    "DEFAULT_SETUP_INPUTS",
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
