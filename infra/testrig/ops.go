package testrig

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Ops counts the DynamoDB operations a client makes, by name ("Query",
// "Scan", "TransactWriteItems"…): round trips, for tests and benchmarks that
// hold a flow to its reads.
type Ops struct {
	mu sync.Mutex
	n  map[string]int
	on map[string]int // queries and scans by "operation table"
}

// Counting returns a client like db whose operations ops counts.
func Counting(db *dynamodb.Client) (*dynamodb.Client, *Ops) {
	ops := &Ops{n: map[string]int{}, on: map[string]int{}}
	return dynamodb.New(db.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("count", func(ctx context.Context,
				in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				op := awsmiddleware.GetOperationName(ctx)
				ops.mu.Lock()
				ops.n[op]++
				if table := tableOf(in.Parameters); table != "" {
					ops.on[op+" "+table]++
				}
				ops.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	}), ops
}

// tableOf is the table a query or scan reads ("" for other operations).
func tableOf(params any) string {
	switch in := params.(type) {
	case *dynamodb.QueryInput:
		return aws.ToString(in.TableName)
	case *dynamodb.ScanInput:
		return aws.ToString(in.TableName)
	}
	return ""
}

// On is how many queries or scans (name) read a table, through any index.
func (o *Ops) On(name, table string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.on[name+" "+table]
}

// Of is how many operations of a name were made.
func (o *Ops) Of(name string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[name]
}

// Total is how many operations were made.
func (o *Ops) Total() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := 0
	for _, n := range o.n {
		t += n
	}
	return t
}

// Reset forgets what was counted.
func (o *Ops) Reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n, o.on = map[string]int{}, map[string]int{}
}

// All is a copy of the counts, by operation.
func (o *Ops) All() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.n))
	for k, v := range o.n {
		out[k] = v
	}
	return out
}

// String lists the operations counted, by name.
func (o *Ops) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	names := slices.Sorted(maps.Keys(o.n))
	for i, name := range names {
		names[i] = fmt.Sprintf("%s %d", name, o.n[name])
	}
	return strings.Join(names, ", ")
}
