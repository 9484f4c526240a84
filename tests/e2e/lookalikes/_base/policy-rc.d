#!/bin/sh
# dockergen lab: never start services while installing packages in an image build.
exit 101
