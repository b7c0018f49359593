from bench.sim.server import main

main()
