"""The one way the project makes an in-process Reverb server: listening on loopback only.

Reverb 0.7.3's server always listens on "[::]:port", every interface, with no option to choose.
The project's commands, benchmarks and test suite restart themselves with the loopback shim
preloaded (`loopback.reexec_with_shim()`, see loopback_bind.c), which rewrites that bind to
loopback. A program that embeds the agents in its own process, where the restart is not ours to
do, gets one warning instead, saying how to keep the server off the network.
"""

from typing import Optional, Sequence

from absl import logging
import reverb

from agents.core import loopback

_warned = False
_in_process_ports = set()  # Of the servers made here, which live as long as this process.


def in_process(server_address: str) -> bool:
  """Whether `server_address` ('host:port') is a server made in this process."""
  return int(server_address.rsplit(':', 1)[-1]) in _in_process_ports


def make_local_server(tables: Sequence[reverb.Table], port: Optional[int] = None
                      ) -> reverb.Server:
  """A Reverb server of `tables` in this process, on loopback when the shim is preloaded.

  Without the shim the server listens on every interface; that is logged once per process.
  """
  global _warned
  if not loopback.active_in_this_process() and not _warned:
    _warned = True
    logging.warning(
        'the in-process Reverb server listens on all network interfaces; call '
        'agents.core.loopback.reexec_with_shim() at the start of your program to keep it on '
        'loopback only')
  server = reverb.Server(tables, port=port)
  _in_process_ports.add(server.port)
  return server
