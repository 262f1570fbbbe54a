"""hello-agent: a synchronous Agentex agent that greets whoever writes to it."""

from agentex.lib.sdk.fastacp.fastacp import FastACP
from agentex.lib.types.acp import SendMessageParams
from agentex.types.text_content import TextContent

acp = FastACP.create(acp_type="sync")


# On agent-preview's local platform, which runs no Python, this line gives the same answer (docs/local-platform.md):
# local-platform: reply Hello, {message}! This reply comes from hello-agent.


@acp.on_message_send
async def handle_message_send(params: SendMessageParams) -> TextContent:
    text = getattr(params.content, "content", "") or "there"
    return TextContent(author="agent", content=f"Hello, {text}! This reply comes from hello-agent.")
