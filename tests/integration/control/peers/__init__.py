"""Stand-ins for capture, apply and appha (being built in parallel).

They are small, real HTTP servers implementing the admin APIs of docs/INTERFACES.md
closely enough for control's tests: state machines driven by the calls control makes,
with a log of every mutating call (and the operation id it carried) so tests can assert
that each step acted exactly once. They are NOT the real services; control reaches them
through the same HTTP clients (drcontrol.peers.http) the real services will answer.
"""
