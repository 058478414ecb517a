#!/bin/sh
# A lab node's engine. After a power cut (swarm-lab.sh kill) and a restart, the
# last run's pid files are still there and would stop dockerd from starting.
rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
exec dockerd --host unix:///var/run/docker.sock
