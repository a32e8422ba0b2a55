"""The context manager, for code outside pytest's fixtures (here a unittest test case, run by pytest or by
``python -m unittest``): one cloud for the class, started in setUpClass and stopped in tearDownClass."""

from __future__ import annotations

import contextlib
import unittest

from smart_home import Home
from tuyacloud.testing import local_cloud


class HomeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls._stack = contextlib.ExitStack()
        cls.cloud = cls._stack.enter_context(local_cloud(region="eu"))

    @classmethod
    def tearDownClass(cls) -> None:
        cls._stack.close()

    def test_a_light_switches_off(self) -> None:
        light = self.cloud.add_device("dj")
        home = Home(self.cloud.url, self.cloud.access_id, self.cloud.access_secret)
        self.assertEqual(home.lights_out([light.id]), [])
        self.assertIs(home.status(light.id)["switch_led"], False)

    def test_the_project_lives_in_the_data_center_asked_for(self) -> None:
        self.assertEqual(self.cloud.region, "eu")


if __name__ == "__main__":
    unittest.main()
