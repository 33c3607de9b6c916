# The Docker SDK for Python's integration-test harness, as nsnet needs it.
#
# Modelled on docker-py 5.0.3 tests/integration/base.py and tests/helpers.py
# (https://github.com/docker/docker-py, Copyright 2016 Docker, Inc.,
# Apache License 2.0, http://www.apache.org/licenses/LICENSE-2.0); written
# anew for nsnet. What differs from upstream, and why:
# - nsnet networks containers and runs no processes: `execute` (exec into a
#   container) skips the rest of its test with the reason;
# - images, volumes and folders are not nsnet's: nothing to clean up there.
import random
import string
import unittest

import docker
import pytest

# nsnet accepts any image name; upstream's busybox tag is kept.
BUSYBOX = 'busybox:buildroot-2014.02'
NO_PROCESSES = 'nsnet is networking-only: it runs no process, so there is no exec (nor an embedded DNS server to ask)'


def random_name():
    return u'dockerpytest_{0:x}'.format(random.getrandbits(64))


def requires_api_version(version):
    # nsnet announces API 1.50 and serves every version the SDK sends from 1.24 on.
    return lambda f: f


class BaseAPIIntegrationTest(unittest.TestCase):
    """A low-level APIClient against DOCKER_HOST, and cleanup of what a test made."""

    def setUp(self):
        self.client = docker.APIClient(**docker.utils.kwargs_from_env(), timeout=60)
        self.tmp_containers = []
        self.tmp_networks = []

    def tearDown(self):
        for container in self.tmp_containers:
            try:
                self.client.stop(container, timeout=1)
                self.client.remove_container(container)
            except docker.errors.APIError:
                pass
        for network in self.tmp_networks:
            try:
                self.client.remove_network(network)
            except docker.errors.APIError:
                pass
        self.client.close()

    def create_and_start(self, image=BUSYBOX, command='top', **kwargs):
        container = self.client.create_container(image=image, command=command, **kwargs)
        self.tmp_containers.append(container)
        self.client.start(container)
        return container

    def execute(self, container, cmd, exit_code=0, **kwargs):
        pytest.skip(NO_PROCESSES)
