"""The `logger` keyword argument of a block: Mage's DictLogger, reporting to the runner."""

import logging
import traceback


class BlockLogger:
    """info/warning/error/exception/debug/critical(message, **tags) as Mage's DictLogger;
    each line goes to the block's log (and the console) through the runner."""

    def __init__(self, session, block_uuid):
        self._session = session
        self.name = block_uuid

    def _emit(self, level, message, **tags):
        text = str(message)
        if tags:
            text += " " + " ".join("%s=%s" % item for item in sorted(tags.items()))
        self._session.log(level, text)

    def debug(self, message, *args, **tags):
        self._emit("DEBUG", message % args if args else message, **tags)

    def info(self, message, *args, **tags):
        self._emit("INFO", message % args if args else message, **tags)

    def warning(self, message, *args, **tags):
        self._emit("WARNING", message % args if args else message, **tags)

    warn = warning

    def error(self, message, *args, **tags):
        self._emit("ERROR", message % args if args else message, **tags)

    def critical(self, message, *args, **tags):
        self._emit("ERROR", message % args if args else message, **tags)

    def exception(self, message, *args, **tags):
        text = (message % args if args else str(message)) + "\n" + traceback.format_exc()
        self._emit("ERROR", text.rstrip(), **tags)

    def log(self, level, message, *args, **tags):
        name = logging.getLevelName(level) if isinstance(level, int) else str(level)
        self._emit(name if name in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO",
                   message % args if args else message, **tags)
