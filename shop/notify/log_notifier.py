"""LogNotifier: the default: messages go to the log (and the latest few, for tests), nowhere else.

A cooperative running farmlive on one laptop has no Zalo OA or SMS account yet; staff
still see in the log what the buyer would have been told.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque

from shop.notify.port import Message
from shop.notify.texts import message_text
from shop.phone import mask_phone

log = logging.getLogger("farmlive.notify")
KEPT = 1000  # the latest messages kept in memory: a long sale sends one per order, or more


class LogNotifier:
    name = "log"

    def __init__(self) -> None:
        self.sent: deque[Message] = deque(maxlen=KEPT)
        self._refs = itertools.count(1)

    async def send(self, message: Message) -> str:
        self.sent.append(message)
        # Only when the line is written: the text costs more than the rest of a send.
        if log.isEnabledFor(logging.INFO):
            # The phone is masked: logs hold no personal data. One-time codes are not logged.
            text = "(one-time code)" if message.params.get("code") else message_text(message)
            log.info("message %s to %s: %s", message.dedup_key, mask_phone(message.phone), text)
        return f"log:{next(self._refs)}"

    async def close(self) -> None:
        return None
