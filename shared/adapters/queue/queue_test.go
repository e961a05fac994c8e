package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/daifuku/daifuku/infra/capture"
	"github.com/daifuku/daifuku/shared/adapters/queue"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// The SQS adapter, through the real SDK client, against the capture server's SQS stand-in.
func TestSQSEnqueuesInBatchesOfTen(t *testing.T) {
	cap := &capture.Server{}
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		cap.ServeHTTP(w, r)
	}))
	defer srv.Close()
	client := sqs.New(sqs.Options{Region: "ap-northeast-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	q := &queue.SQS{Client: client, URL: srv.URL + "/000000000000/daifuku-send"}

	var jobs []message.Job
	for i := range 23 {
		jobs = append(jobs, message.Job{Key: message.NewKey(message.ThankYou, "C1", fmt.Sprint("order:", i)), Kind: message.ThankYou, CustomerID: "C1"})
	}
	if err := q.Enqueue(context.Background(), jobs...); err != nil {
		t.Fatal(err)
	}
	reqs := cap.Requests("sqs")
	if len(reqs) != 23 {
		t.Fatalf("%d jobs on the queue, want 23", len(reqs))
	}
	if calls.Load() != 3 {
		t.Errorf("%d SendMessageBatch calls, want 3 (10 + 10 + 3)", calls.Load())
	}
	for i, r := range reqs {
		var j message.Job
		if err := json.Unmarshal(r.Body, &j); err != nil || j.Key != jobs[i].Key {
			t.Errorf("job %d = %s (%v), want %s", i, r.Body, err, jobs[i].Key)
		}
	}
}

func TestMemoryDrainsAsSQSEvents(t *testing.T) {
	q := &queue.Memory{}
	_ = q.Enqueue(context.Background(), message.Job{Key: "a"}, message.Job{Key: "b"}, message.Job{Key: "c"})
	ev := q.Drain(2)
	if len(ev.Records) != 2 || q.Len() != 1 || ev.Records[0].MessageId == ev.Records[1].MessageId {
		t.Errorf("drain: %d records, %d left", len(ev.Records), q.Len())
	}
}

// The local queue keeps SQS's rules: a received message is hidden while its
// handler works; a failed one comes back after the visibility timeout; one
// received five times and still failing goes to the dead-letter list.
func TestLaneKeepsSQSRules(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	l := &queue.Lane{Name: "send", Visibility: 30 * time.Second, Clock: func() time.Time { return now }}
	l.Send("a", "b")
	ev := l.Receive(10)
	if len(ev.Records) != 2 || len(l.Receive(10).Records) != 0 {
		t.Fatalf("received %d, then more while in flight", len(ev.Records))
	}
	fail := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: ev.Records[1].MessageId}}}
	l.Done(ev, fail)
	if l.Len() != 1 || len(l.Receive(10).Records) != 0 {
		t.Fatal("a failed message came back before its visibility timeout")
	}
	for i := 2; i <= 5; i++ {
		now = now.Add(30 * time.Second)
		ev := l.Receive(10)
		if len(ev.Records) != 1 || ev.Records[0].Attributes["ApproximateReceiveCount"] != fmt.Sprint(i) {
			t.Fatalf("receive %d: %+v", i, ev.Records)
		}
		l.Done(ev, events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: ev.Records[0].MessageId}}})
	}
	now = now.Add(30 * time.Second)
	if ev := l.Receive(10); len(ev.Records) != 0 || l.Len() != 0 || len(l.Dead()) != 1 || l.Dead()[0] != "b" {
		t.Errorf("after five failed receives: %d received, %d left, dead %v; want it in the dead-letter list", len(ev.Records), l.Len(), l.Dead())
	}
}
