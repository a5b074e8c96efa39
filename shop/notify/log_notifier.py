"""LogNotifier: the default: messages go to the log (and a list, for tests), nowhere else.

A cooperative running farmlive on one laptop has no Zalo OA or SMS account yet; staff
still see in the log what the buyer would have been told.
"""

from __future__ import annotations

import logging

from shop.notify.port import Message
from shop.notify.texts import message_text
from shop.phone import mask_phone

log = logging.getLogger("farmlive.notify")


class LogNotifier:
    name = "log"

    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def send(self, message: Message) -> str:
        self.sent.append(message)
        # The phone is masked: logs hold no personal data. One-time codes are not logged.
        text = "(one-time code)" if message.params.get("code") else message_text(message)
        log.info("message %s to %s: %s", message.dedup_key, mask_phone(message.phone), text)
        return f"log:{len(self.sent)}"

    async def close(self) -> None:
        return None
