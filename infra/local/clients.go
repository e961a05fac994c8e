package local

import (
	"github.com/daifuku/daifuku/shared/channel/email"
	"github.com/daifuku/daifuku/shared/channel/line"
)

// The capture server takes any bearer token.
const captureToken = "local-capture"

func lineNew(url string) (*line.Client, error)  { return line.New(captureToken, url, nil) }
func mailNew(url string) (*email.Client, error) { return email.New(captureToken, url, nil) }
