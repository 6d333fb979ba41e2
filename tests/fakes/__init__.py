"""Local fake platform servers (Slack Web API, Bot Framework Connector) for integration tests.

The real SDKs talk HTTP to these fakes on 127.0.0.1; every request is recorded. See the
module docstrings of ``slack_api`` and ``bot_connector`` for the SDK behaviour they encode.
"""

from ._http import LocalServer, serve_app
from .bot_connector import (
    ConnectorCall,
    FakeBotConnector,
    conversation_update_activity,
    installation_update_activity,
    message_activity,
)
from .slack_api import (
    FakeSlackAPI,
    FakeSlackUser,
    SlackCall,
    block_action_payload,
    dm_event,
    signed_headers,
    slash_command_body,
)

__all__ = [
    "ConnectorCall",
    "FakeBotConnector",
    "FakeSlackAPI",
    "FakeSlackUser",
    "LocalServer",
    "SlackCall",
    "block_action_payload",
    "conversation_update_activity",
    "dm_event",
    "installation_update_activity",
    "message_activity",
    "serve_app",
    "signed_headers",
    "slash_command_body",
]
