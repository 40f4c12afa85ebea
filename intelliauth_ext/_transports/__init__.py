"""How requests reach the network: the default transport, the aiohttp transport, the senders.

Modules, one concept each, and no two that import each other (``_default`` and
``_aiohttp`` both take their limits from ``_limits``):

* ``_limits``: ``DEFAULT_LIMITS``, the connection-pool limits every transport starts from
* ``_default``: ``LazyDefaultTransport``, aiohttp on asyncio when installed, httpx's own
  transport otherwise, picked at the first request (and ``current_async_library``)
* ``_aiohttp``: ``AiohttpTransport``, an ``httpx`` transport over one
  ``aiohttp.ClientSession``; imported only when picked, so ``import intelliauth_ext``
  never imports aiohttp
* ``_bounded``: ``read_body`` and ``send_bounded``, every response body read under a size
  limit (decoded bytes, counted as they stream), and the default limits
* ``_sender``: the ``Sender`` protocol, how the invoker hands a request to the HTTP client,
  ``ClientSender`` (``httpx.AsyncClient.send``, for a client the user passed in) and
  ``run_auth_flow``
* ``_direct``: ``DirectSender``, the SDK's own client's transport without
  ``AsyncClient.send``

``AiohttpTransport`` is not re-exported here, for the same reason: import it from
``intelliauth_ext._transports._aiohttp``.
"""

from intelliauth_ext._transports._bounded import (
    DEFAULT_MAX_RESPONSE_BYTES,
    MAX_AUTH_RESPONSE_BYTES,
    read_body,
    send_bounded,
)
from intelliauth_ext._transports._default import (
    LazyDefaultTransport,
    aiohttp_available,
    current_async_library,
)
from intelliauth_ext._transports._direct import DirectSender, absolute_url
from intelliauth_ext._transports._limits import DEFAULT_LIMITS
from intelliauth_ext._transports._sender import ClientSender, Sender

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_AUTH_RESPONSE_BYTES",
    "ClientSender",
    "DirectSender",
    "LazyDefaultTransport",
    "Sender",
    "absolute_url",
    "aiohttp_available",
    "current_async_library",
    "read_body",
    "send_bounded",
]
