/**
 * vsadm's --help and --version: ipvsadm's usage text (usage_exit), with Director's differences spelled out.
 */
import { SCHEDULER_NAMES } from "@director/model";

/** The agent package's version (packages/agent/package.json); vsadm does not load the agent to learn it. */
export const VSADM_VERSION = "0.1.0";

export const VERSION_TEXT = `vsadm ${VSADM_VERSION} (Director, ipvsadm-compatible)\n`;

export const HELP_TEXT = `${VERSION_TEXT}Usage:
  vsadm -A|E -t|u service-address [-s scheduler] [-p [timeout]] [-M netmask] [-b sched-flags] [-o]
  vsadm -D -t|u service-address
  vsadm -C
  vsadm -R
  vsadm -S [-n]
  vsadm -a|e -t|u service-address -r server-address [options]
  vsadm -e -t|u service-address -r server-address --drain [--then-maintenance] [--deadline seconds]
  vsadm -e -t|u service-address -r server-address --maintenance [--deadline seconds]
  vsadm -e -t|u service-address -r server-address --activate
  vsadm -d -t|u service-address -r server-address
  vsadm -L|l [-t|u service-address] [options]
  vsadm -Z [-t|u service-address]
  vsadm --set tcp tcpfin udp
  vsadm -h

Commands:
Either long or short options are allowed.
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin (one atomic batch)
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values (0 leaves one unchanged)
  --help            -h        display this help message
  --version         -v        display the version

Options:
  --tcp-service  -t service-address   service-address is IP:port or [IPv6]:port
  --udp-service  -u service-address   service-address is IP:port or [IPv6]:port
  --scheduler    -s scheduler         one of ${SCHEDULER_NAMES.join("|")},
                                      the default scheduler is wlc.
  --persistent   -p [timeout]         persistent service (default timeout 300 seconds)
  --netmask      -M netmask           persistent granularity mask: 255.255.255.0 or 24
  --sched-flags  -b flags             scheduler flags (comma-separated): sh-fallback,
                                      sh-port (with -s sh), mh-fallback, mh-port (with
                                      -s mh); flag-1 and flag-2 name the same two flags
  --ops          -o                   one-packet scheduling (UDP services only)
  --real-server  -r server-address    server-address is IP[:port]; the port defaults
                                      to the service's
  --masquerading -m                   masquerading (NAT) (the default, see below)
  --gatewaying   -g                   gatewaying (direct routing): kernel engine only
  --ipip         -i                   ipip encapsulation (tunneling): not on this kernel
  --fullnat                           NAT of both addresses: the real server answers the
                                      director (kernel engine; userspace NAT already is)
  --weight       -w weight            capacity of real server, 0..65535 (default 1)
  --u-threshold  -x uthreshold        upper threshold of connections (0 = none)
  --l-threshold  -y lthreshold        lower threshold of connections (0 = 3/4 upper)
  --drain                             -e: no new connections; existing ones finish
  --then-maintenance                  with --drain: go to maintenance once idle
  --deadline     seconds              with --drain: go to maintenance after seconds;
                                      with --maintenance: close what is left after
  --maintenance                       -e: out of rotation
  --activate                          -e: back into rotation
  --connection   -c                   output of current connections (with -t|-u:
                                      that service's only)
  --timeout                           output of timeout (tcp tcpfin udp)
  --daemon                            output of daemon information (none: Director
                                      has no IPVS sync daemon)
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact        -X                   expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --admin                             output of admin state and health (an extra
                                      State column in the default layout)
  --json                              output of the agent's status as JSON
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, sorting is the default
  --numeric      -n                   numeric output (always numeric; accepted)

Differences from ipvsadm:
  -a without -m|-g|-i means -m (NAT), not -g: Director's default engine is the
     userspace NAT proxy; -g and -i need a service on the kernel engine.
  -E and -e set every option they take, as ipvsadm does: one left out returns to
     its default (scheduler wlc, no persistence, no flags; weight 1, -m, thresholds
     0). -e with only --drain, --maintenance or --activate changes the state alone.
  Addresses are numeric only: no host or service names, in or out (-n or not).
  The header's "version 1.2.1 (size=4096)" is fixed, for scripts that read it.
  -L shows the weight the scheduler uses (0 while draining, in maintenance or
     after a failed check); -S saves the configured weight, and -x/-y when set.
  -R applies all lines or none: a bad line rejects the whole input, named by its
     line number. Start the input with -C to replace the whole table.
  -S writes what the ipvsadm format can express; service names, engines, PROXY
     protocol and admin states live in the YAML configuration.
  Not supported: fwmark (-f) and SCTP services, persistence engines (--pe), sync
     daemons, tunnel options.

The agent is found through DIRECTOR_AGENT_URL and DIRECTOR_AGENT_TOKEN (and
DIRECTOR_AGENT_CA), or the state directory DIRECTOR_STATE_DIR.
Exit status: 0 done, 1 the agent refused the change or could not be reached,
2 bad arguments (nothing was sent to the agent).
`;
