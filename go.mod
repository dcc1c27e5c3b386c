module github.com/roomwire/roomwire

go 1.26.0
