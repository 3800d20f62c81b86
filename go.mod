module github.com/voipkit/voipkit

go 1.26.8
