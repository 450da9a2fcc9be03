"""Errors a user can cause and fix. The runner prints their message without a traceback."""


class UserError(Exception):
    """A bad config, missing file or other input problem; the message says what to do."""


class ConfigError(UserError):
    """An override has an unknown key or a value of the wrong type."""


class DataNotFoundError(UserError):
    """A data set's files are not where the config says they are."""


class DivergedError(UserError):
    """Training produced a non-finite loss; lower the learning rate or check the data."""
