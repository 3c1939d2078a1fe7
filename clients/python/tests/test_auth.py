"""Bearer tokens: a scheduler started with --auth-token-file answers only calls that carry a token,
and each token's tenant sees only its own jobs."""

from __future__ import annotations

import os
import tempfile
import unittest

from support import ServerProcess, predictor_server

from servesim_client import SchedulerClient, ServesimError


class BearerTokenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        fd, cls.tokens = tempfile.mkstemp(prefix="servesim-tokens-")
        with os.fdopen(fd, "w") as f:
            f.write("team-a aaaaaaaaaaaaaaaaaaaaaaaa\nteam-b bbbbbbbbbbbbbbbbbbbbbbbb\n")
        cls.server = ServerProcess(
            "scheduler", ["--predictor-address", predictor_server().address, "--auth-token-file", cls.tokens]
        )

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()
        os.unlink(cls.tokens)

    def test_calls_need_a_token_and_tenants_stay_apart(self) -> None:
        with SchedulerClient(self.server.address, retries=0) as anonymous:
            with self.assertRaises(ServesimError) as err:
                anonymous.list_jobs()
            self.assertEqual(err.exception.code_name, "UNAUTHENTICATED")
        with SchedulerClient(self.server.address, token="aaaaaaaaaaaaaaaaaaaaaaaa") as a, SchedulerClient(
            self.server.address, token="bbbbbbbbbbbbbbbbbbbbbbbb"
        ) as b:
            self.assertEqual(a.list_jobs(), [])
            with self.assertRaises(ServesimError) as err:
                b.get_job("00000000-0000-0000-0000-000000000000")
            self.assertEqual(err.exception.code_name, "NOT_FOUND")


if __name__ == "__main__":
    unittest.main()
