"""The recovery steps: one module and one plain ``run(message, ctx) -> Outcome`` function each.

Steps converge rather than command: each reads the current state first and returns ``Done`` when its
effect already holds, so running one twice changes nothing. None sleeps; a step waiting for Nova returns
``Retry`` and gives up when ``message.deadline`` has passed.
"""
