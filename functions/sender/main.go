// Command sender delivers the message jobs of the send queue (SQS).
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
	lambda.Start(a.SendJobs())
}
