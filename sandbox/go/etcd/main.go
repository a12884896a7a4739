// Command etcd is the upstream etcd server, linked from its Go module (the
// server module's own replace directives rule out `go install`).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
