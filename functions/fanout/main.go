// Command fanout decides the shards of campaigns on the fan-out queue (SQS),
// one page of an audience an invocation.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/daifuku/daifuku/shared/edge/app"
)

func main() {
	a, err := app.FromEnv(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(a.DecideShards())
}
