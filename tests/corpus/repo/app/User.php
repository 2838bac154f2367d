<?php

namespace App;

class User
{
    private array $data;

    public function __construct(array $data)
    {
        $this->data = $data;
    }

    public function displayName(): string
    {
        return $this->data['first'] . ' ' . $this->data['last'];
    }

    public function profileLink(): string
    {
        return '<a href="/u/' . $this->data['id'] . '">' . $this->data['first'] . '</a>';
    }
}
