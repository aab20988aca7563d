"""`examvault loadtest`: simulated exam pages against a real server, then a verification.

The promise "no acknowledged answer is ever lost" is checked by running it: many
students answer, change their minds, all submit at once (or leave it to the server),
the server may be killed in the middle, and afterwards every acknowledged answer must
be in the stored attempt and every score must equal a recomputation from the client's
own record. Modules: `scenarios` (what to run), `student` (one exam page), `verify`
(the checks), `report` (table, JSON, picture) and `runner` (servers and orchestration).
"""
