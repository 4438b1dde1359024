"""Not installed: the client libraries (web/, android/, ios/) and the conformance suite every one of them passes
(conformance/)."""
