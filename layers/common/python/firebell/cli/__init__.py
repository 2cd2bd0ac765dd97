"""`firebell`: the command line for people and scripts (console script; runs on people's machines, not in Lambda).

firebell login --as alice                 # local runtime: sign in as a person of the config
firebell incidents list --status triggered
firebell ack INC-12
firebell oncall now
"""
