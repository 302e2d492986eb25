package main

import (
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "version",
		Usage: "print the kvlab version and the Go toolchain it was built with",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "kvlab %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	})
}
