"""The composition root: the ``qlab`` command wires research, sim and live together.

``research`` may import neither ``sim`` nor ``live``, and those two never import each other,
so the one place that knows all three is this thin package.
"""
