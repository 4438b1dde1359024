"""Releases: a bundle signed for download (Ed25519), with what an app needs to roll it out: its version, the
contract version, the minimum client version, the rollout fraction and the salt users are bucketed by, a kill
switch, and the release it replaces (for rollback). One archive per release; docs/releases.md is the protocol.

  keys.py     keygen, and reading the key files
  record.py   release.json as a typed record (and its JSON Schema)
  archive.py  the archive: a deterministic POSIX tar, read back without trusting its paths
  rollout.py  the user bucket every client computes the same way
  make.py     edgeship release (build, sign) and the check of a release (edgeship verify RELEASE)
"""
