module ssowizard/bench/rtv

go 1.27.3

require github.com/mattermost/xml-roundtrip-validator v0.1.0
