"""The evacuation domain: plain Python rules about Nova evacuations.

The rule modules import neither Django nor novaclient; their functions take the JSON-shaped
dicts Nova and Placement return (or small dataclasses) so every rule can be unit-tested on its
own. Two modules are the exception: ``batches`` (the batch store, Django ORM) and
``submission`` (the background sender, which calls ``evac_dashboard.api.actions``).

* ``request``  – the evacuate request body / novaclient arguments for a microversion
* ``checks``   – pre-flight checks with findings an operator can act on
* ``errors``   – one table turning Nova errors and faults into advice
* ``capacity`` – Placement capacity maths and a first-fit-decreasing placement plan
* ``progress`` – each instance's evacuation state derived from Nova's records
* ``priority`` – restart priority from server metadata and the submission order
* ``servers``, ``services`` – small readers of Nova's server and compute-service dicts
* ``hosts``    – compute host and instance rows for the hosts panel
"""
