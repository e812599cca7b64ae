"""Experimental surfaces, as Ray's `ray.experimental`: the shared-memory channels that
compiled graphs (`dag.experimental_compile()`) run on live in `ember.experimental.channel`.
"""

__all__: list[str] = []
