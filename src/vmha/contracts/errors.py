"""The one exception of the message contract."""


class ContractError(ValueError):
    """A message or operator file does not match its contract.

    ``path`` names the offending field as slash-separated keys and list indexes (``payload/event``,
    ``flow/steps/2``; for settings from the environment, the variable name); ``""`` means the whole
    document. ``message`` says what is wrong with it.
    """

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path
