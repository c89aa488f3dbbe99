"""Customer Sense: customer-service sentiment, complainer types and prompts for live chats."""

from .engine import Engine
from .errors import AssistError, EventError, RuleFileError
from .events import parse_event
from .phrasebook import Phrasebook, load_phrasebook

__all__ = ["AssistError", "Engine", "EventError", "Phrasebook", "RuleFileError", "load_phrasebook",
           "parse_event"]
__version__ = "0.1.0"
