package capture

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
)

// sqs answers SendMessage and SendMessageBatch as SQS's JSON protocol does, so
// the real SDK client can be pointed here (AWS_ENDPOINT_URL_SQS) and each job
// body lands in the outbox's sqs/ folder.
func (s *Server) sqs(w http.ResponseWriter, r *http.Request, body []byte) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	type entry struct {
		ID          string `json:"Id"`
		MessageBody string `json:"MessageBody"`
	}
	var in struct {
		QueueURL    string  `json:"QueueUrl"`
		MessageBody string  `json:"MessageBody"`
		Entries     []entry `json:"Entries"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.QueueURL == "" {
		sqsError(w, "InvalidParameterValue", "QueueUrl and a JSON body are required")
		return
	}
	switch op {
	case "SendMessage":
		if err := s.record("sqs", r, []byte(in.MessageBody)); err != nil {
			sqsError(w, "InternalError", err.Error())
			return
		}
		sqsJSON(w, map[string]string{"MessageId": newID(), "MD5OfMessageBody": md5hex(in.MessageBody)})
	case "SendMessageBatch":
		if len(in.Entries) == 0 || len(in.Entries) > 10 {
			sqsError(w, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "a batch holds 1 to 10 entries")
			return
		}
		var ok []map[string]string
		for _, e := range in.Entries {
			if err := s.record("sqs", r, []byte(e.MessageBody)); err != nil {
				sqsError(w, "InternalError", err.Error())
				return
			}
			ok = append(ok, map[string]string{"Id": e.ID, "MessageId": newID(), "MD5OfMessageBody": md5hex(e.MessageBody)})
		}
		sqsJSON(w, map[string]any{"Successful": ok, "Failed": []any{}})
	default:
		sqsError(w, "UnsupportedOperation", op+" is not served by the capture server")
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func sqsJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(v)
}

func sqsError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + code, "message": msg})
}
