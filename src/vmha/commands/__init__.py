"""Subcommands of ``vmha`` beyond settings, gateway and monitor: each module adds its own parser with
``add(commands)``; ``vmha.cli`` wires them in."""
