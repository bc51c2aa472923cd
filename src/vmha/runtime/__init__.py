"""The queue consumer runtime of ``vmha gateway``: Zaqar claims in, one step run per message, flows on.

``Services`` bundles what a gateway uses (settings, journal, queues, step table, intake, OpenStack
connection, clock); ``Consumer`` runs the worker threads and the deadline sweeper over them;
``vmha.gateway`` assembles a real one. The step table and the intake are passed in (``StepTable``,
``IntakeFunction``): this package never imports ``vmha.functions``.
"""

from vmha.runtime.consumer import Consumer
from vmha.runtime.context import RunContext
from vmha.runtime.flow import FAN_OUT_KEY
from vmha.runtime.queues import Claimed, Queues
from vmha.runtime.services import Services
from vmha.runtime.table import IntakeFunction, Step, StepFunction, StepTable
from vmha.runtime.wakeup import Wakeup
from vmha.runtime.zaqar import ZaqarQueues

__all__ = [
    "FAN_OUT_KEY",
    "Claimed",
    "Consumer",
    "IntakeFunction",
    "Queues",
    "RunContext",
    "Services",
    "Step",
    "StepFunction",
    "StepTable",
    "Wakeup",
    "ZaqarQueues",
]
