package campaigns_test

import (
	"bytes"
	"io"
	"net/http"
)

// cloneRequest rebuilds a request whose body was already read.
func cloneRequest(r *http.Request, body []byte) *http.Request {
	c := r.Clone(r.Context())
	c.Body = io.NopCloser(bytes.NewReader(body))
	return c
}
