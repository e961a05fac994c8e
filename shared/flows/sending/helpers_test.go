package sending_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-lambda-go/events"
)

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// cloneRequest rebuilds a request whose body was already read.
func cloneRequest(r *http.Request, body []byte) *http.Request {
	c := r.Clone(r.Context())
	c.Body = io.NopCloser(bytes.NewReader(body))
	return c
}

func eventRecord(id, body string) events.SQSMessage {
	return events.SQSMessage{MessageId: id, Body: body}
}
