"""The ported system: attune's workers, scheduler, completion listener and advance_workflow.

Every function here is a generator in sans-IO style: it yields operations (``models.ops``)
and receives their results. It never touches a store, a clock or a random source itself.
"""
